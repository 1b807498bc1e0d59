#!/usr/bin/env python3
"""Write a synthetic CMS Open Payments drop: ``python generate.py OUT_DIR`` (see README.md).

The generator lives in the package (``lakeward.examples.open_payments``) so that
``lakeward demo`` can use it from any install.
"""

import sys

from lakeward.examples.open_payments import main

if __name__ == "__main__":
    sys.exit(main())
