"""A small shop, the example application for expandcontract."""

RELEASE = "1.3.0"
