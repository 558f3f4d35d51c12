"""Donated goods: sponsors (爱心企业/商铺), and later items, donations and the stock ledger."""
