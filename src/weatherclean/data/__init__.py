"""Datasets and image helpers: Snow100K on disk, snow synthesised on the fly, rain video datasets, rain
synthesised on the fly, re-toned backgrounds, and reading clean images, frames and videos."""

from weatherclean.data.images import IMAGE_SUFFIXES, SKIMAGE_SAMPLES, list_images, read_rgb, skimage_samples
from weatherclean.data.rain import (
    VIDEO_SUFFIXES,
    PairedRainDataset,
    RainClipPaths,
    SyntheticRainDataset,
    find_frame_folders,
    find_nturain,
    find_rain_clips,
    find_rain_pairs,
    find_rainsyn,
    iter_video_frames,
    list_frames,
    natural_key,
    read_video_frames,
)
from weatherclean.data.snow import Snow100KDataset, SnowTriple, SyntheticSnowDataset, find_snow100k
from weatherclean.data.tones import TONES, retone

__all__ = [
    "IMAGE_SUFFIXES",
    "SKIMAGE_SAMPLES",
    "TONES",
    "VIDEO_SUFFIXES",
    "PairedRainDataset",
    "RainClipPaths",
    "Snow100KDataset",
    "SnowTriple",
    "SyntheticRainDataset",
    "SyntheticSnowDataset",
    "find_frame_folders",
    "find_nturain",
    "find_rain_clips",
    "find_rain_pairs",
    "find_rainsyn",
    "find_snow100k",
    "iter_video_frames",
    "list_frames",
    "list_images",
    "natural_key",
    "read_rgb",
    "read_video_frames",
    "retone",
    "skimage_samples",
]
