"""Data and configurations of the runnable examples (used by `lakeward demo`)."""
