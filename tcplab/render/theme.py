"""Colours shared by every picture, so a learner sees the client in one colour everywhere.

Okabe-Ito colour-blind-safe palette: the first endpoint blue, the second vermillion.
"""

#: One colour per endpoint, in the order of ``Network.names``; then spares.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9")
