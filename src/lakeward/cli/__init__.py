"""The lakeward command line (typer): thin over the library."""
