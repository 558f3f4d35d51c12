"""Accounts, roles, login and logout, and the permission decorators every view uses."""
