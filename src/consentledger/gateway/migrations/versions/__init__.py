"""The gateway database's revisions, one file each, in one line from ``j0001``."""
