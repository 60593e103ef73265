"""Which steps of the QLoRA recipe a bitsandbytes install can run on the CPU.

Run it with the python of any environment that has torch and bitsandbytes (and, for the last column,
transformers + peft); it prints one JSON line: the bitsandbytes version and, for each step, `ok` or the
first line of the error. Used to find the first bitsandbytes release whose CPU 4-bit path works:

    for v in 0.45.5 0.46.1 0.47.0 0.48.2 0.49.2 0.50.2; do
        python3 -m venv /tmp/bnb-$v && /tmp/bnb-$v/bin/pip install -q torch==2.13.0 && \
        /tmp/bnb-$v/bin/pip install -q bitsandbytes==$v transformers peft && \
        /tmp/bnb-$v/bin/python bench/bnb_cpu_probe.py
    done

Steps: `quantize` (NF4 + double quant of a Linear4bit moved to the CPU), `forward` (matches x @ dequantised W.T),
`lora_backward` (LoRA factors on a frozen 4-bit layer get finite, non-zero gradients), `paged_adamw8bit` and
`adamw8bit` (one step of bitsandbytes' 8-bit AdamW changes the LoRA factors), `hf_qlora` (a tiny Gemma loaded by
transformers with `BitsAndBytesConfig(load_in_4bit=True, nf4, double quant)`, `prepare_model_for_kbit_training`,
peft LoRA, one backward + torch `AdamW` step, then `generate`).
"""
import json, sys, tempfile, traceback, warnings
warnings.filterwarnings('ignore')
import torch

def first_line(e): return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:160]

res = {}
def step(name):
    def deco(f):
        try: f(); res[name] = 'ok'
        except Exception as e: res[name] = first_line(e)
        return f
    return deco

try:
    import bitsandbytes as bnb
    res['bitsandbytes'] = bnb.__version__
except Exception as e:
    print(json.dumps({'bitsandbytes': 'import failed', 'error': first_line(e)})); sys.exit(0)
res['torch'] = torch.__version__
torch.manual_seed(0)
S = {}

@step('quantize')
def _():
    lin = bnb.nn.Linear4bit(256, 256, bias=False, compute_dtype=torch.float32, quant_type='nf4', compress_statistics=True).to('cpu')
    w = lin.weight
    assert w.dtype == torch.uint8 and getattr(w, 'quant_state', None) is not None, f"not quantised ({w.dtype})"
    assert w.quant_state.nested, "no double quantisation"
    S['lin'] = lin

@step('forward')
def _():
    lin = S['lin']
    x = torch.randn(4, 256)
    W = bnb.functional.dequantize_4bit(lin.weight.data, lin.weight.quant_state).float()
    y = lin(x)
    assert torch.allclose(y, x @ W.T, atol=1e-3, rtol=1e-3), f"max err {(y - x @ W.T).abs().max():.3g}"

@step('lora_backward')
def _():
    lin = S['lin']
    A, B = torch.nn.Linear(256, 16, bias=False), torch.nn.Linear(16, 256, bias=False)
    torch.nn.init.normal_(B.weight, std=0.02)
    x = torch.randn(4, 256, requires_grad=True)
    loss = (lin(x) + B(A(x))).pow(2).mean()
    loss.backward()
    for p in (A.weight, B.weight): assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()
    S['lora'] = (A, B)

def opt_step(cls):
    A, B = S['lora']
    before = [p.detach().clone() for p in (A.weight, B.weight)]
    opt = cls([A.weight, B.weight], lr=1e-2)
    opt.step(); opt.zero_grad()
    assert all(not torch.equal(b, p) for b, p in zip(before, (A.weight, B.weight))), "parameters unchanged"
    assert all(torch.isfinite(p).all() for p in (A.weight, B.weight))

@step('paged_adamw8bit')
def _(): opt_step(bnb.optim.PagedAdamW8bit)

@step('adamw8bit')
def _():
    A, B = S['lora']
    x = torch.randn(4, 256); (B(A(x))).pow(2).mean().backward()
    opt_step(bnb.optim.AdamW8bit)

@step('hf_qlora')
def _():
    from transformers import GemmaConfig, GemmaForCausalLM, AutoModelForCausalLM, BitsAndBytesConfig
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    cfg = GemmaConfig(vocab_size=128, hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1, head_dim=128, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    with tempfile.TemporaryDirectory() as d:
        GemmaForCausalLM(cfg).save_pretrained(d)
        q = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.float32)
        m = AutoModelForCausalLM.from_pretrained(d, quantization_config=q, dtype=torch.float32, device_map={'': 'cpu'})
    assert any(isinstance(x, bnb.nn.Linear4bit) for x in m.modules()), "no Linear4bit layers"
    m = prepare_model_for_kbit_training(m, use_gradient_checkpointing=True)
    m = get_peft_model(m, LoraConfig(r=16, lora_alpha=32, target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], task_type='CAUSAL_LM'))
    m.train()
    ids = torch.randint(3, 128, (2, 16))
    ps = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(ps, lr=1e-3)
    before = [p.detach().clone() for p in ps]
    loss = m(input_ids=ids, labels=ids).loss
    loss.backward(); opt.step()
    assert torch.isfinite(loss) and any(not torch.equal(b, p) for b, p in zip(before, ps))
    m.eval()
    out = m.generate(input_ids=ids[:1, :4], max_new_tokens=4, do_sample=False)
    assert out.shape[1] == 8

print(json.dumps(res))
