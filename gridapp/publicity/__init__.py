"""积分公示: a month's points posted for residents to check, objections (异议), and the 光荣榜."""
