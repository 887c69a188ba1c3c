"""Recurrent layers (issue 13): cells, the RNN wrapper, SimpleRNN/LSTM/GRU, Bidirectional,
TimeDistributed and the ConvLSTMs."""
