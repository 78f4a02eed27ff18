"""The technique scripts, installed as the package `style_transfer.scripts`."""
