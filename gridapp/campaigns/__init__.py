"""Snow-clearing campaigns (扫雪除冰) and other 专项行动: zones, sign-up, the printable notice and sign-in sheets.

A campaign is planned as a draft, then published: publishing schedules one duty session per
zone through ``gridapp.duty.service.schedule``, so sign-up, check-in, the roster and points
are the duty capability's, not a second implementation.
"""
