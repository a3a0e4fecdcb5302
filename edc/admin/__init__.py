"""User administration pages (role USERS_MANAGE): users, roles per site, accounts."""
