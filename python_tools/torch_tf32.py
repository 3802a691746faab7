"""float32 matrix work in full f32 on the GPU, as recur computes it: TF32 off for cuBLAS
(torch.matmul, nn.Linear) and cuDNN (the RNN modules). Shared by benchmarks/bench_peers.py and
python_tools/train_reference.py.

PyTorch >= 2.9 has the fp32_precision settings, and the old allow_tf32 flags are deprecated there
(mixing the two is an error): the new ones are used where they exist."""


def tf32_off(torch):
    """Turns TF32 off; returns the settings as read back, for the record."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision") and hasattr(cudnn, "rnn"):
        matmul.fp32_precision = "ieee"
        cudnn.fp32_precision = "ieee"
        cudnn.conv.fp32_precision = "ieee"
        cudnn.rnn.fp32_precision = "ieee"
        return {"api": "fp32_precision", "cuda.matmul": matmul.fp32_precision,
                "cudnn": cudnn.fp32_precision, "cudnn.conv": cudnn.conv.fp32_precision,
                "cudnn.rnn": cudnn.rnn.fp32_precision}
    matmul.allow_tf32 = False
    cudnn.allow_tf32 = False
    return {"api": "allow_tf32", "cuda.matmul.allow_tf32": matmul.allow_tf32,
            "cudnn.allow_tf32": cudnn.allow_tf32}
