"""The demo application of pgmend: the coaching and memory app the two schema reviews describe."""
