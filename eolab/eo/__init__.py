"""Earth-observation data: SAR chips and scenes, raster I/O, tiling and calibration."""
