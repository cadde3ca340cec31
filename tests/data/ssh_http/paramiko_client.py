#!/usr/bin/env python3
"""paramiko SSH client: key login, one command. usage: paramiko_client.py HOST PORT KEY"""
import sys

import paramiko

host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect(host, port=port, username="root", key_filename=key, look_for_keys=False, allow_agent=False)
_, out, _ = c.exec_command("echo paramiko-was-here")
out.read()
c.close()
