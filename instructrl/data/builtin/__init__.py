"""The embedded data sets, written by instructrl itself (see generate.py)."""
