"""ACL users, as Redis 7.0's acl.c: the command table rules name (``table``), users,
selectors and the rule language (``users``), permission checks (``check``), the ACL log
(``log``), a server's users with the config file's ``user`` lines and the ACL file
(``store``), and what the connection code calls (``hooks``). ACL commands are in
``server.commands.acl``."""
