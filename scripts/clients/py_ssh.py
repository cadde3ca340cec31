"""One SSH login attempt with paramiko (the key exchange is what is captured)."""
import sys

import paramiko

c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
try:
    c.connect(sys.argv[1], username="root", password="x", look_for_keys=False, allow_agent=False, timeout=5)
except Exception:
    pass
