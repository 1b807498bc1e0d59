#!/usr/bin/env python3
"""Write synthetic IoC assessment events: ``python generate.py OUT_DIR`` (see README.md).

The generator lives in the package (``lakeward.examples.ioc_assessments``) so that
``lakeward demo`` can use it from any install.
"""

import sys

from lakeward.examples.ioc_assessments import main

if __name__ == "__main__":
    sys.exit(main())
