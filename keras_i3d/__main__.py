"""``python -m keras_i3d`` is the ``keras-i3d`` command."""

import sys

from keras_i3d.cli.app import main

sys.exit(main())
