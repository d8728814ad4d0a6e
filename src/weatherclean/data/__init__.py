"""Datasets and image helpers: Snow100K on disk, snow synthesised on the fly, reading clean images."""

from weatherclean.data.images import IMAGE_SUFFIXES, SKIMAGE_SAMPLES, list_images, read_rgb, skimage_samples
from weatherclean.data.snow import Snow100KDataset, SnowTriple, SyntheticSnowDataset, find_snow100k

__all__ = [
    "IMAGE_SUFFIXES",
    "SKIMAGE_SAMPLES",
    "Snow100KDataset",
    "SnowTriple",
    "SyntheticSnowDataset",
    "find_snow100k",
    "list_images",
    "read_rgb",
    "skimage_samples",
]
