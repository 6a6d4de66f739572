#![no_main]

wspc_fuzz::target!(session_server);
