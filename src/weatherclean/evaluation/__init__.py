"""Quality metrics (PSNR/SSIM with paper conventions) and dataset evaluation with baseline rows."""

from weatherclean.evaluation.evaluate import (
    BASELINES,
    INPUT_METHOD,
    EvaluationResult,
    ImageScore,
    MethodSummary,
    check_report_path,
    evaluate_snow,
    median_filter,
    render_summary,
    score_pair,
    write_report,
)
from weatherclean.evaluation.metrics import CONVENTIONS, psnr, rgb_to_y, ssim

__all__ = [
    "BASELINES",
    "CONVENTIONS",
    "INPUT_METHOD",
    "EvaluationResult",
    "ImageScore",
    "MethodSummary",
    "check_report_path",
    "evaluate_snow",
    "median_filter",
    "psnr",
    "render_summary",
    "rgb_to_y",
    "score_pair",
    "ssim",
    "write_report",
]
