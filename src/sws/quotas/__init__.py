"""Quota requests (扩容申请): a tenant asks for more quota, rules or an admin decide."""
