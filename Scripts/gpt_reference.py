"""The GPT of ../shared/peers/train_gpt_shakespeare.py and bench_gpt.py, copied with its sizes as
arguments (the reference script trains when imported). Same module tree, so the same state_dict keys:
wte, wpe, blocks.N.{ln_1,attn_qkv,attn_proj,ln_2,mlp_fc,mlp_proj}, ln_f, head.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, D, HEADS):
        super().__init__()
        self.D, self.HEADS = D, HEADS
        self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn_qkv, self.attn_proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.mlp_fc, self.mlp_proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x):
        D, HEADS = self.D, self.HEADS
        b, t, _ = x.shape
        q, k, v = self.attn_qkv(self.ln_1(x)).split(D, dim=2)
        q, k, v = (z.view(b, t, HEADS, D // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).reshape(b, t, D))
        return x + self.mlp_proj(F.gelu(self.mlp_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, V, CTX=128, LAYERS=4, HEADS=4, D=128):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList(Block(D, HEADS) for _ in range(LAYERS))
        self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, V)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))


def greedy(model, ids, count, ctx):
    """The reference script's sampling loop: crop to the last ctx ids, argmax, append."""
    idx = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(count):
            nxt = model(idx[:, -ctx:])[:, -1].argmax(-1, keepdim=True)
            idx = torch.cat([idx, nxt], dim=1)
    return idx[0].tolist()[len(ids):]
