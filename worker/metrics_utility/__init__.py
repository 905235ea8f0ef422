"""metrics-utility: gather Ansible Automation Platform usage data, ship it, and build billing reports."""

__version__ = '0.1.0'
