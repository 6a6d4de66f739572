#![no_main]

wspc_fuzz::target!(deflate);
