"""Image and file I/O shared by every subcommand."""
