"""The bureau database's revisions, one file each, in one line from ``b0001``."""
