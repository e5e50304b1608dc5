"""The rules: what an officer may do and what happens when they do it. Every function takes a database session
and the user acting, checks the user's role and areas, and refuses with ``errors.Refusal``; nothing here
imports MQTT or Flask, so the API and the pages cannot disagree."""
