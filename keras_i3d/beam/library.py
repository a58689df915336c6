"""The one module that imports Apache Beam; the others take its names from here.

Without Beam, using any of them raises `keras_i3d.errors.MissingExtraError` naming
the ``beam`` extra.
"""

from __future__ import annotations

import logging

from keras_i3d.beam.defaults import BEAM_EXTRA
from keras_i3d.errors import MissingExtraError

# Importing Beam logs a warning on the root logger when Google's API client is missing ("apitools not
# found"), and logging it configures the root logger (a stderr handler) of the whole program. A handler
# held on the root logger while Beam is imported swallows that, and leaves the program's logging as it was.
_root = logging.getLogger()
_hold = logging.NullHandler()
_root.addHandler(_hold)
try:
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference
    from apache_beam.options.pipeline_options import PipelineOptions
except ImportError as error:  # pragma: no cover - exercised in a process without Beam
    raise MissingExtraError(f"keras_i3d.beam needs Apache Beam, which is not installed: {BEAM_EXTRA}") from error
finally:
    _root.removeHandler(_hold)

__all__ = [
    "FileSystems",
    "KeyedModelHandler",
    "ModelHandler",
    "PipelineOptions",
    "PredictionResult",
    "RunInference",
    "beam",
]
