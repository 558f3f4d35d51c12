"""Duty: types of volunteer work, sessions staff schedule, and volunteers' check-ins, where points are earned."""
