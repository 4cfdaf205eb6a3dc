"""``%eo preprocess PATH``: undersample, calibrate to dB and tile a scene of a dataset."""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import subcommand

if TYPE_CHECKING:
    from eolab.eo.preprocess import PreprocessResult
    from eolab.magics.core import EolabMagics


@subcommand("preprocess", help="undersample / calibrate / tile a raster of a dataset")
@magic_arguments()
@argument("path", metavar="PATH", help="the raster, e.g. eodata/s1_scene.tif")
@argument("--undersample", type=float, default=None, metavar="FACTOR", help="e.g. 2")
@argument("--calibrate", action="store_true", help="intensity to dB")
@argument("--tile", type=int, default=None, metavar="SIZE", help="chip size, e.g. 75")
@argument("--stride", type=int, default=None, help="chip stride (default: SIZE)")
@argument("--pad", action="store_true", help="keep edge chips, padded with nodata")
def preprocess(magics: EolabMagics, args: Namespace, cell: str | None) -> PreprocessResult:
    """Run the chosen steps on the current project's engine; outputs land next to PATH."""
    from eolab.eo.preprocess import preprocess as run

    project = magics.project()
    return run(
        project,
        args.path,
        undersample=args.undersample,
        calibrate=args.calibrate,
        tile=args.tile,
        stride=args.stride,
        pad=args.pad,
        engine=project.get_engine(),
    )
