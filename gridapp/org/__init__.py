"""The organisation tree: division → farm → community → grid (levels are data), and who works where."""
