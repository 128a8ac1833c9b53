'''The seed manual's code examples (chapter 4), run as written.

Each block is copied verbatim from ../shared/seed/04-advanced-usage.md.  Names the
manual leaves to the reader (``items``, ``video_stream``, ``send_packet``...) are
supplied by the harness.  Where a snippet decrypts with an outer ``ctx`` after a
function encrypted under another seed, the harness's ``ctx`` has that seed: the
seed is bound into every key, so a context with a different seed refuses (tested
at the end).  ``validate_chunk_fast`` gets the password added, as issue 3 asks.
'''

from __future__ import annotations

import os
import pickle
import textwrap
from pathlib import Path
from typing import Any

import pytest

import stc


def run(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **names: Any) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "manual_example", **names}
    exec(compile(textwrap.dedent(code), "manual", "exec"), namespace)
    return namespace


BASIC_CONTEXT = """
from stc import STCContext

ctx = STCContext('my-seed')

# Encrypt with context data
encrypted1, meta1 = ctx.encrypt(
    "Same message",
    password="same_password",
    context_data={"user": "alice"}
)

encrypted2, meta2 = ctx.encrypt(
    "Same message",
    password="same_password",
    context_data={"user": "bob"}
)

# Different encrypted results!
assert encrypted1 != encrypted2

print("✓ Same message + password = different encryption due to context!")
"""

MULTI_USER = """
# Each user gets different encryption for same data
def encrypt_for_user(data, password, user_id):
    ctx = STCContext('app-seed')
    
    encrypted, metadata = ctx.encrypt(
        data,
        password=password,
        context_data={'user_id': user_id}
    )
    
    return encrypted, metadata

# Alice's encryption
alice_enc, alice_meta = encrypt_for_user("shared data", "pw", "alice@example.com")

# Bob's encryption
bob_enc, bob_meta = encrypt_for_user("shared data", "pw", "bob@example.com")

# Different encrypted results even though message and password are same!
"""

TIME_BASED = """
import time

def encrypt_with_timestamp(data, password):
    \"\"\"Encryption includes timestamp\"\"\"
    ctx = STCContext('time-seed')
    
    timestamp = int(time.time())
    
    encrypted, metadata = ctx.encrypt(
        data,
        password=password,
        context_data={'timestamp': timestamp}
    )
    
    return encrypted, metadata, timestamp

# Each encryption is unique due to different timestamps
enc1, meta1, time1 = encrypt_with_timestamp("data", "pw")
time.sleep(1)  # Wait 1 second
enc2, meta2, time2 = encrypt_with_timestamp("data", "pw")

# Different encryptions!
assert enc1 != enc2
"""

PURPOSE = """
def encrypt_with_purpose(data, password, purpose):
    \"\"\"Different encryption for different purposes\"\"\"
    ctx = STCContext('purpose-seed')
    
    encrypted, metadata = ctx.encrypt(
        data,
        password=password,
        context_data={'purpose': purpose}
    )
    
    return encrypted, metadata

# Same data, different purposes = different encryption
backup_enc, backup_meta = encrypt_with_purpose("data", "pw", "backup")
share_enc, share_meta = encrypt_with_purpose("data", "pw", "sharing")
archive_enc, archive_meta = encrypt_with_purpose("data", "pw", "archive")

# All different!
"""

DECRYPT_WITH_CONTEXT = """
# Encrypt with context
encrypted, metadata = ctx.encrypt(
    "Secret data",
    password="pw",
    context_data={'user': 'alice', 'role': 'admin'}
)

# ✓ Correct - same context
decrypted = ctx.decrypt(
    encrypted,
    metadata,
    password="pw",
    context_data={'user': 'alice', 'role': 'admin'}
)

# ❌ Wrong - different context (will fail or produce garbage!)
try:
    wrong_decrypt = ctx.decrypt(
        encrypted,
        metadata,
        password="pw",
        context_data={'user': 'bob', 'role': 'admin'}
    )
except Exception:
    print("❌ Wrong context - decryption failed!")
"""

SESSION = """
import uuid

def create_session_encryption():
    \"\"\"Each session gets unique encryption\"\"\"
    session_id = str(uuid.uuid4())
    
    ctx = STCContext('session-seed')
    
    encrypted, metadata = ctx.encrypt(
        "Session data",
        password="session_pw",
        context_data={'session_id': session_id}
    )
    
    return encrypted, metadata, session_id

# Create session
enc, meta, session = create_session_encryption()

# Later, decrypt with session ID
decrypted = ctx.decrypt(enc, meta, password="session_pw", context_data={'session_id': session})
"""

RBAC = """
def encrypt_with_access_control(data, password, user_role):
    \"\"\"Only users with matching role can decrypt\"\"\"
    ctx = STCContext('rbac-seed')
    
    encrypted, metadata = ctx.encrypt(
        data,
        password=password,
        context_data={'required_role': user_role}
    )
    
    return encrypted, metadata

# Encrypt for admins only
admin_enc, admin_meta = encrypt_with_access_control(
    "Admin-only data",
    password="admin_pw",
    user_role="admin"
)

# Admin can decrypt
decrypted = ctx.decrypt(admin_enc, admin_meta, password="admin_pw", context_data={'required_role': 'admin'})

# Regular user cannot decrypt (even with password!)
try:
    ctx.decrypt(admin_enc, admin_meta, password="admin_pw", context_data={'required_role': 'user'})
except:
    print("❌ Access denied - wrong role!")
"""

QUICK_REF_CONTEXT = """
# Encrypt with context
encrypted, meta = ctx.encrypt(
    data,
    password="pw",
    context_data={'user': 'alice', 'purpose': 'backup'}
)

# Decrypt with SAME context
decrypted = ctx.decrypt(
    encrypted,
    meta,
    password="pw",
    context_data={'user': 'alice', 'purpose': 'backup'}
)
"""


def test_context_data_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    ns = run(BASIC_CONTEXT, tmp_path, monkeypatch)
    ns = run(MULTI_USER, tmp_path, monkeypatch, STCContext=stc.STCContext)
    assert ns["alice_enc"] != ns["bob_enc"]
    run(TIME_BASED, tmp_path, monkeypatch, STCContext=stc.STCContext)
    ns = run(PURPOSE, tmp_path, monkeypatch, STCContext=stc.STCContext)
    assert len({ns["backup_enc"], ns["share_enc"], ns["archive_enc"]}) == 3
    ns = run(DECRYPT_WITH_CONTEXT, tmp_path, monkeypatch, ctx=stc.STCContext("my-seed"))
    assert ns["decrypted"] == "Secret data" and "wrong_decrypt" not in ns
    ns = run(SESSION, tmp_path, monkeypatch, STCContext=stc.STCContext, ctx=stc.STCContext("session-seed"))
    assert ns["decrypted"] == "Session data"
    ns = run(RBAC, tmp_path, monkeypatch, STCContext=stc.STCContext, ctx=stc.STCContext("rbac-seed"))
    assert ns["decrypted"] == "Admin-only data"
    ns = run(QUICK_REF_CONTEXT, tmp_path, monkeypatch, ctx=stc.STCContext("my-seed"), data="payload")
    assert ns["decrypted"] == "payload"
    out = capsys.readouterr().out
    assert "Wrong context - decryption failed" in out and "Access denied - wrong role" in out


def test_outer_context_with_another_seed_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(stc.WrongPasswordError, match="wrong seed"):
        run(SESSION, tmp_path, monkeypatch, STCContext=stc.STCContext, ctx=stc.STCContext("my-seed"))


SAVE_STATE = """
from stc import STCContext

ctx = STCContext('my-seed')

# Do some operations
ctx.hash("operation1")
ctx.hash("operation2")
encrypted, meta = ctx.encrypt("data", password="pw")

# Save complete state
state = ctx.save_state()

print(f"State keys: {list(state.keys())}")
# Output: ['cel_state', 'phe_state', 'pcf_state']
"""

LOAD_STATE = """
# Create new context
ctx2 = STCContext('my-seed')

# Load saved state
ctx2.load_state(state)

# ctx2 now has IDENTICAL state to ctx!
# Same encryption behavior, same evolution
"""

CHECKPOINT = """
import pickle

def encrypt_with_checkpoints(items, checkpoint_file):
    \"\"\"Encrypt items with periodic checkpoints\"\"\"
    ctx = STCContext('checkpoint-seed')
    results = []
    
    for i, item in enumerate(items):
        # Encrypt item
        encrypted, metadata = ctx.encrypt(item, password="pw")
        results.append((encrypted, metadata))
        
        # Save checkpoint every 100 items
        if i % 100 == 0:
            state = ctx.save_state()
            with open(checkpoint_file, 'wb') as f:
                pickle.dump({'state': state, 'progress': i, 'results': results}, f)
            print(f"✓ Checkpoint saved at item {i}")
    
    return results

# Process 1000 items with checkpoints
items = [f"Item {i}" for i in range(1000)]
encrypt_with_checkpoints(items, 'checkpoint.dat')
"""

RESUME = """
import pickle

def resume_encryption(items, checkpoint_file):
    \"\"\"Resume from saved checkpoint\"\"\"
    # Load checkpoint
    with open(checkpoint_file, 'rb') as f:
        checkpoint = pickle.load(f)
    
    # Create context and restore state
    ctx = STCContext('checkpoint-seed')
    ctx.load_state(checkpoint['state'])
    
    # Resume from where we left off
    progress = checkpoint['progress']
    results = checkpoint['results']
    
    print(f"Resuming from item {progress}...")
    
    for i in range(progress, len(items)):
        encrypted, metadata = ctx.encrypt(items[i], password="pw")
        results.append((encrypted, metadata))
    
    return results
"""

QUICK_REF_STATE = """
# Save state
state = ctx.save_state()

# Load state
ctx2 = STCContext('same-seed')
ctx2.load_state(state)
"""


def test_state_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    saved = run(SAVE_STATE, tmp_path, monkeypatch)
    assert "['cel_state', 'phe_state', 'pcf_state']" in capsys.readouterr().out
    ns = run(LOAD_STATE, tmp_path, monkeypatch, STCContext=stc.STCContext, state=saved["state"], ctx=saved["ctx"])
    assert ns["ctx2"].hash("x") == saved["ctx"].hash("x")
    assert ns["ctx2"].decrypt(saved["encrypted"], saved["meta"], password="pw") == "data"
    ns = run(CHECKPOINT, tmp_path, monkeypatch, STCContext=stc.STCContext)
    assert "Checkpoint saved at item 900" in capsys.readouterr().out
    ns = run(RESUME, tmp_path, monkeypatch, STCContext=stc.STCContext)
    items = [f"Item {i}" for i in range(1000)]
    results = ns["resume_encryption"](items, str(tmp_path / "checkpoint.dat"))
    assert len(results) == 901 + 100  # the checkpoint at item 900 holds 901 results; resumed from 900
    fresh = stc.STCContext("checkpoint-seed")
    assert fresh.decrypt(*results[-1], password="pw") == "Item 999"
    ns = run(QUICK_REF_STATE, tmp_path, monkeypatch, STCContext=stc.STCContext, ctx=stc.STCContext("same-seed"))
    assert ns["ctx2"].save_state() == ns["state"]


REUSE = """
# ❌ SLOW - Creates new context every time (very expensive!)
for item in items:
    ctx = STCContext('same-seed')  # DON'T DO THIS!
    encrypted, meta = ctx.encrypt(item, password="pw")

# ✓ FAST - Reuse context
ctx = STCContext('same-seed')  # Create ONCE
for item in items:
    encrypted, meta = ctx.encrypt(item, password="pw")
"""

BATCH = """
import json

# ❌ SLOW - Encrypt each item separately
items = ["item1", "item2", "item3"]
for item in items:
    encrypted, meta = ctx.encrypt(item, password="pw")
    # 3 encryptions + 3 metadata (~1.4 MB total)

# ✓ FAST - Encrypt as batch
items_json = json.dumps(items)
encrypted, metadata = ctx.encrypt(items_json, password="pw")
# 1 encryption + 1 metadata (~486 KB total)

# Decrypt and unpack
decrypted_json = ctx.decrypt(encrypted, metadata, password="pw")
items_restored = json.loads(decrypted_json)
"""

LATTICE = """
# For speed (non-critical data)
ctx_fast = STCContext('seed', lattice_size=64, depth=4)
# Encryption: ~0.5s, Metadata: ~150 KB

# For balance (default)
ctx_normal = STCContext('seed')  # 128×128×6
# Encryption: ~1.8s, Metadata: ~486 KB

# For security (critical data)
ctx_secure = STCContext('seed', lattice_size=256, depth=8)
# Encryption: ~8s, Metadata: ~1.8 MB
"""

NO_DECOYS = """
# ✓ If data is not sensitive, disable decoys for speed
encrypted, metadata = ctx.encrypt(
    non_sensitive_data,
    password="pw",
    use_decoys=False  # Faster encryption/decryption
)
"""

ENTROPY = """
ctx = STCContext('my-seed')
operations = 0

for item in items:
    # Check health every 100 operations (not every time!)
    if operations % 100 == 0:
        health = ctx.get_entropy_health()
        if health['quality_score'] < 0.7:
            ctx.cel.update()
    
    encrypted, meta = ctx.encrypt(item, password="pw")
    operations += 1
"""

STREAM_TIP = """
# ❌ SLOW - Loads entire file into memory
with open('large.bin', 'rb') as f:
    data = f.read()
encrypted, meta = ctx.encrypt(data, password="pw")

# ✓ FAST - Constant memory usage
metadata = ctx.encrypt_stream(
    input_path='large.bin',
    output_path='large.enc',
    password="pw"
)
"""

TIMING_TIP = """
import time

def encrypt_with_timing(data, password):
    \"\"\"Measure encryption time\"\"\"
    start = time.time()
    
    encrypted, metadata = ctx.encrypt(data, password=password)
    
    elapsed = time.time() - start
    print(f"Encryption took {elapsed:.2f} seconds")
    
    return encrypted, metadata

# Use it
enc, meta = encrypt_with_timing("test data", "pw")
"""

CHUNK_TIP = """
# For fast SSD/NVMe drives
metadata = ctx.encrypt_stream(
    input_path='file.bin',
    output_path='file.enc',
    password="pw",
    chunk_size=4194304  # 4 MB chunks (faster)
)

# For slow HDDs or network drives
metadata = ctx.encrypt_stream(
    input_path='file.bin',
    output_path='file.enc',
    password="pw",
    chunk_size=524288  # 512 KB chunks (more compatible)
)
"""

QUICK_REF_PERF = """
# Fast mode
ctx = STCContext('seed', lattice_size=64, depth=4)
encrypted, meta = ctx.encrypt(data, password="pw", use_decoys=False)

# Reuse context
ctx = STCContext('seed')  # Once!
for item in items:
    encrypted, meta = ctx.encrypt(item, password="pw")

# Batch data
import json
batch = json.dumps(items)
encrypted, meta = ctx.encrypt(batch, password="pw")
"""


def test_performance_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = ["a", "b", "c"]
    run(REUSE, tmp_path, monkeypatch, STCContext=stc.STCContext, items=items)
    ctx = stc.STCContext("same-seed")
    ns = run(BATCH, tmp_path, monkeypatch, ctx=ctx)
    assert ns["items_restored"] == ["item1", "item2", "item3"] and ns["metadata"].size < 400
    ns = run(LATTICE, tmp_path, monkeypatch, STCContext=stc.STCContext)
    assert ns["ctx_secure"].kdf_params.memory_kib == 256 * 1024
    ns = run(NO_DECOYS, tmp_path, monkeypatch, ctx=ctx, non_sensitive_data=b"public")
    assert ns["metadata"].size <= 152
    ns = run(ENTROPY, tmp_path, monkeypatch, STCContext=stc.STCContext, items=[f"i{i}" for i in range(250)])
    assert ns["operations"] == 250
    (tmp_path / "large.bin").write_bytes(os.urandom(3 << 20))
    ns = run(STREAM_TIP, tmp_path, monkeypatch, ctx=ctx)
    assert ns["metadata"].is_file and (tmp_path / "large.enc").stat().st_size > 3 << 20
    run(TIMING_TIP, tmp_path, monkeypatch, ctx=ctx)
    (tmp_path / "file.bin").write_bytes(os.urandom(5 << 20))
    ns = run(CHUNK_TIP, tmp_path, monkeypatch, ctx=ctx)
    assert ns["metadata"].chunk_size == 524288
    run(QUICK_REF_PERF, tmp_path, monkeypatch, STCContext=stc.STCContext, data="x", items=items)


ENCRYPT_LARGE = """
from stc import STCContext
import os

def encrypt_large_file(input_file, output_file, password):
    \"\"\"Encrypt a large file with progress bar\"\"\"
    ctx = STCContext('large-file-seed')
    
    # Get file size
    file_size = os.path.getsize(input_file)
    print(f"Encrypting {file_size / 1024 / 1024:.2f} MB file...")
    
    # Progress callback function
    def show_progress(current_bytes, total_bytes):
        percent = (current_bytes / total_bytes) * 100
        mb_done = current_bytes / 1024 / 1024
        mb_total = total_bytes / 1024 / 1024
        print(f"Progress: {percent:.1f}% ({mb_done:.1f}/{mb_total:.1f} MB)", end='\\r')
    
    # Encrypt with streaming
    metadata = ctx.encrypt_stream(
        input_path=input_file,
        output_path=output_file,
        password=password,
        chunk_size=1048576,  # 1 MB chunks
        progress_callback=show_progress
    )
    
    # Save metadata
    import pickle
    with open(f"{output_file}.meta", 'wb') as meta_file:
        pickle.dump(metadata, meta_file)
    
    print(f"\\n✓ Encrypted: {output_file}")
    return metadata

# Example: Encrypt a 500 MB video file
encrypt_large_file('movie.mp4', 'movie_encrypted.bin', 'strong_password')
"""

DECRYPT_LARGE = """
import pickle
from stc import STCContext

def decrypt_large_file(encrypted_file, output_file, password):
    \"\"\"Decrypt a large file with progress\"\"\"
    ctx = STCContext('large-file-seed')
    
    # Load metadata
    with open(f"{encrypted_file}.meta", 'rb') as meta_file:
        metadata = pickle.load(meta_file)
    
    # Progress callback
    def show_progress(current_bytes, total_bytes):
        percent = (current_bytes / total_bytes) * 100
        mb_done = current_bytes / 1024 / 1024
        mb_total = total_bytes / 1024 / 1024
        print(f"Progress: {percent:.1f}% ({mb_done:.1f}/{mb_total:.1f} MB)", end='\\r')
    
    # Decrypt with streaming
    ctx.decrypt_stream(
        input_path=encrypted_file,
        metadata=metadata,
        output_path=output_file,
        password=password,
        chunk_size=1048576,
        progress_callback=show_progress
    )
    
    print(f"\\n✓ Decrypted: {output_file}")

# Example: Decrypt the video file
decrypt_large_file('movie_encrypted.bin', 'movie_restored.mp4', 'strong_password')
"""

PHASE2_VALIDATE = """
from core.streaming import validate_chunk_fast

# Analyze ONLY first 64KB to find real decoy
chunk = data[:65536]  # First 64KB only
real_decoy_index, validation_info = validate_chunk_fast(chunk, metadata, "my_password")

print(f"✓ Real decoy identified: #{real_decoy_index}")
print(f"✓ Validation took: {validation_info['validation_time']:.2f}s")
"""

PHASE2_STREAM = """
from core.streaming import stream_decrypt_file

# Stream decrypt using ONLY the real decoy - no trial and error!
stats = stream_decrypt_file(
    input_file='large_video.mp4.enc',
    output_file='large_video.mp4',
    metadata=metadata,
    password="my_password"
)

print(f"✓ Decrypted at {stats['throughput_mbps']:.1f} MB/s")
print(f"✓ Peak memory usage: {stats['peak_memory_usage'] / 1024**2:.1f} MB")
print(f"✓ Processed {stats['chunks_processed']} chunks")
"""

QUICK_REF_STREAM = """
# Encrypt
metadata = ctx.encrypt_stream(
    input_path='large.bin',
    output_path='large.enc',
    password="pw",
    chunk_size=1048576
)

# Decrypt
ctx.decrypt_stream(
    input_path='large.enc',
    metadata=metadata,
    output_path='large_restored.bin',
    password="pw"
)
"""


def test_file_streaming_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    movie = os.urandom((5 << 20) + 12345)
    (tmp_path / "movie.mp4").write_bytes(movie)
    run(ENCRYPT_LARGE, tmp_path, monkeypatch)
    assert "Progress: 100.0%" in capsys.readouterr().out
    with open(tmp_path / "movie_encrypted.bin.meta", "rb") as f:
        assert isinstance(pickle.load(f), stc.HeaderV2)
    run(DECRYPT_LARGE, tmp_path, monkeypatch)
    assert (tmp_path / "movie_restored.mp4").read_bytes() == movie
    # Phase 2: a file under the default seed (these helpers take seed=/ctx= otherwise).
    video = os.urandom(3 << 20)
    (tmp_path / "large_video.mp4").write_bytes(video)
    metadata = stc.STCContext(stc.DEFAULT_SEED, lattice_size=64, depth=4).encrypt_stream(
        tmp_path / "large_video.mp4", tmp_path / "large_video.mp4.enc", "my_password", chunk_size=32768)
    (tmp_path / "large_video.mp4").unlink()
    data = (tmp_path / "large_video.mp4.enc").read_bytes()
    ns = run(PHASE2_VALIDATE, tmp_path, monkeypatch, data=data, metadata=metadata)
    assert ns["validation_info"]["first_chunk_verified"]
    assert ns["real_decoy_index"] in range(4)
    ns = run(PHASE2_STREAM, tmp_path, monkeypatch, metadata=metadata)
    assert (tmp_path / "large_video.mp4").read_bytes() == video
    assert ns["stats"]["chunks_processed"] == 96 and ns["stats"]["bytes_processed"] == 3 << 20
    # The whole Phase 2 section in one process, in the manual's order, on a file another seed made
    # (issue 22, item 8): the chunk begins with the header, and the metadata keeps its context.
    (tmp_path / "large_video.mp4").write_bytes(video)
    metadata = stc.STCContext("large-file-seed", lattice_size=64, depth=4).encrypt_stream(
        tmp_path / "large_video.mp4", tmp_path / "large_video.mp4.enc", "my_password", chunk_size=32768)
    (tmp_path / "large_video.mp4").unlink()
    data = (tmp_path / "large_video.mp4.enc").read_bytes()
    ns = run(PHASE2_VALIDATE + PHASE2_STREAM, tmp_path, monkeypatch, data=data, metadata=metadata)
    assert ns["validation_info"]["first_chunk_verified"] and ns["stats"]["chunks_processed"] == 96
    assert (tmp_path / "large_video.mp4").read_bytes() == video
    assert "Real decoy identified: #" in capsys.readouterr().out
    (tmp_path / "large.bin").write_bytes(os.urandom(2 << 20))
    run(QUICK_REF_STREAM, tmp_path, monkeypatch, ctx=stc.STCContext("seed", lattice_size=64, depth=4))
    assert (tmp_path / "large_restored.bin").read_bytes() == (tmp_path / "large.bin").read_bytes()


P2P_BASIC = """
from interfaces.api.streaming_context import StreamingContext

# Initialize streaming context with shared seed
stream_ctx = StreamingContext('session_abc123')

# Encrypt streaming frame (video, audio, real-time data)
frame_data = b'...'  # Your frame data
header, encrypted = stream_ctx.encrypt_chunk(frame_data)

# Fixed 16-byte header for network transmission
header_bytes = header.to_bytes()

# Decrypt frame
decrypted = stream_ctx.decrypt_chunk(header, encrypted)
"""

P2P_HANDSHAKE = """
# Server: Create session and share metadata
server_ctx = StreamingContext('shared_seed_abc123')
session_metadata = server_ctx.get_stream_metadata()  # 9 bytes
send_to_client(session_metadata)

# Client: Reconstruct session from same seed
client_ctx = StreamingContext('shared_seed_abc123')
# Server and client now use identical key schedules
# Encryption/decryption synchronized via chunk sequence numbers
"""

P2P_ADAPTIVE = """
# Small frames: Direct encryption (no splitting)
small_frame = b'X' * 4096  # 4KB
h1, e1 = stream_ctx.encrypt_chunk(small_frame)
print(h1.flags)  # 0x0000 (single chunk)

# Large frames: Automatic splitting into 8KB sub-chunks
large_frame = b'X' * 65536  # 64KB
h2, e2 = stream_ctx.encrypt_chunk(large_frame)
print(h2.flags)  # 0x0001 (multi-chunk flag)
print(f"Sub-chunks created: {stream_ctx.subchunks_created}")
"""

P2P_MONITOR = """
# Get performance statistics
stats = stream_ctx.get_performance_stats()

print(f"Chunks encrypted: {stats['chunks_encrypted']}")
print(f"Throughput: {stats['encrypt_throughput_mbps']:.2f} MB/s")
print(f"Avg latency: {stats['avg_encrypt_ms']:.2f}ms")
print(f"Sub-chunks: {stats['subchunks_created']}")
print(f"CEL depth: {stats['cel_depth']}")
"""

P2P_CONFIG = """
# Custom streaming context configuration
ctx = StreamingContext(
    seed='session_id',
    optimal_chunk_size=8192,           # 8KB optimal for DSF
    enable_adaptive_chunking=True,     # Auto-split large frames
    initial_depth=2,                   # Fast CEL init (depth 2)
    max_depth=6,                       # Security ceiling (depth 6)
    key_schedule_size=256,             # Precomputed keys
    entropy_pool_size=1024,            # 1KB entropy pool
    key_rotation_mb=10                 # Rotate keys after 10 MB
)
"""

P2P_EXAMPLE = """
from interfaces.api.streaming_context import StreamingContext, ChunkHeader

# Sender: Encrypt and transmit video frames
sender_ctx = StreamingContext('video_session_2024')

for frame in video_stream:
    # Encrypt frame
    header, encrypted = sender_ctx.encrypt_chunk(frame.data)
    
    # Network transmission
    send_packet(header.to_bytes() + encrypted)

# Receiver: Decrypt video frames
receiver_ctx = StreamingContext('video_session_2024')

while receiving:
    # Receive packet
    packet = receive_packet()
    
    # Extract header (first 16 bytes)
    header = ChunkHeader.from_bytes(packet[:16])
    encrypted = packet[16:]
    
    # Decrypt frame
    frame_data = receiver_ctx.decrypt_chunk(header, encrypted)
    
    # Display frame
    display_video_frame(frame_data)
"""


class _Frame:
    def __init__(self, data: bytes) -> None:
        self.data = data


class _Network:
    """A packet queue standing in for the network; ``receiving`` is true while it holds packets."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def __bool__(self) -> bool:
        return bool(self.packets)


def test_streaming_context_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    ns = run(P2P_BASIC, tmp_path, monkeypatch)
    assert ns["decrypted"] == b"..." and len(ns["header_bytes"]) == 16
    sent: list[bytes] = []
    ns2 = run(P2P_HANDSHAKE, tmp_path, monkeypatch, StreamingContext=stc.StreamingContext, send_to_client=sent.append)
    assert len(sent[0]) == 9
    h, e = ns2["server_ctx"].encrypt_chunk(b"sync")
    assert ns2["client_ctx"].decrypt_chunk(h, e) == b"sync"
    run(P2P_ADAPTIVE, tmp_path, monkeypatch, stream_ctx=ns["stream_ctx"])
    # two 32 KiB pieces (the manual's 8 KiB default made eight; docs/design.md says why it changed)
    assert capsys.readouterr().out.splitlines()[:3] == ["0", "1", "Sub-chunks created: 2"]
    run(P2P_MONITOR, tmp_path, monkeypatch, stream_ctx=ns["stream_ctx"])
    assert "Chunks encrypted: 3" in capsys.readouterr().out
    run(P2P_CONFIG, tmp_path, monkeypatch, StreamingContext=stc.StreamingContext)
    network = _Network()
    shown: list[bytes] = []
    frames = [_Frame(os.urandom(5000)) for _ in range(30)]
    run(P2P_EXAMPLE, tmp_path, monkeypatch, video_stream=frames, send_packet=network.packets.append,
        receiving=network, receive_packet=lambda: network.packets.pop(0), display_video_frame=shown.append)
    assert shown == [f.data for f in frames]
