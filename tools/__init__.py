"""Build steps that are not part of the installed package (they write files the package ships)."""
