"""The agents domain: Brigade's usage figures and task history (issue 7)."""
