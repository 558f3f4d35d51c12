"""The month-end exchange counter (积分兑换)."""
