"""Staff look after one volunteer: their details, points, attendance and redemptions, and their account
(edit, deactivate/reactivate, reset a forgotten password). The rules live in the capabilities' services."""
