"""Random Detoxify checkpoints in Detoxify's own format, for offline tests and overhead benchmarks."""
from __future__ import annotations

from pathlib import Path

CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
WORDS = ("du bist ein idiot danke für den artikel you are an fool thanks for the article sehr gut schlecht "
         "dumm blöd nett freundlich hass liebe").split()


def build(folder: Path, hidden: int = 32, layers: int = 2, heads: int = 2, positions: int = 128,
          seed: int = 0) -> tuple[Path, Path]:
    """A random BERT classifier: (checkpoint file, Hugging Face config+tokenizer folder). Tiny by default.

    The checkpoint's model_type names the local folder, so Detoxify never looks a model type up online.
    """
    import torch  # noqa: PLC0415
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer  # noqa: PLC0415

    torch.manual_seed(seed)
    config_dir = Path(folder) / "hf-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    chars = sorted(set("".join(WORDS)) | set("abcdefghijklmnopqrstuvwxyzäöüß0123456789.,!?"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *chars, *(f"##{c}" for c in chars)]
    (config_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(config_dir / "vocab.txt"), do_lower_case=True, model_max_length=positions)
    tokenizer.save_pretrained(config_dir)
    config = BertConfig(vocab_size=len(dict.fromkeys(vocab)), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 4, max_position_embeddings=positions,
                        num_labels=len(CLASSES))
    config.save_pretrained(config_dir)
    model = BertForSequenceClassification(config)
    checkpoint = Path(folder) / f"random-bert-{hidden}x{layers}.ckpt"
    torch.save({"config": {"arch": {"args": {"model_type": str(config_dir), "model_name": "BertForSequenceClassification",
                                             "tokenizer_name": "BertTokenizer", "num_classes": len(CLASSES)}},
                           "dataset": {"args": {"classes": CLASSES}}},
                "state_dict": model.state_dict()}, checkpoint)
    return checkpoint, config_dir
