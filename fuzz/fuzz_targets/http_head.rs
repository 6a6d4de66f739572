#![no_main]

wspc_fuzz::target!(http_head);
