"""The community itself: households (户) of the district and the volunteer teams (志愿服务队)."""
