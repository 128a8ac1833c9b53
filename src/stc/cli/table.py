"""What ``stc --help`` lists: the commands, where they live, and their one-line help (no click here)."""

from __future__ import annotations

MAIN_HELP = "STC: authenticated encryption for messages, files of any size, folders and live P2P frames."
EXIT_CODES_HELP = ("Exit codes: 0 success; 1 the input could not be decrypted or authenticated (wrong "
                   "passphrase or identity, wrong context, tampering, truncation, not STC data); 2 usage or "
                   "I/O error; 130 interrupted; 141 output pipe closed; 129/143 hung up/terminated.")

#: Each command: (module, function, one-line help). A command's module (and with it cryptography)
#: is imported only when that command runs, so `stc --help` stays fast.
COMMANDS = {
    "encrypt": ("crypt", "encrypt", "Encrypt a file or stdin to recipients and/or a passphrase."),
    "decrypt": ("crypt", "decrypt", "Decrypt a file or stdin; nothing is released before it authenticated."),
    "inspect": ("inspect_cmd", "inspect", "Show a header: slot kinds, sizes, what the length implies."),
    "keygen": ("keys", "keygen", "Generate a secret key (identity) and print its public key."),
    "rekey": ("keys", "rekey", "Add or remove recipients, or change the passphrase, header only."),
    "encrypt-folder": ("folders", "encrypt_folder_cmd", "Encrypt a folder as one file (a tar stream inside)."),
    "decrypt-folder": ("folders", "decrypt_folder_cmd", "Extract an encrypted folder safely."),
    "list": ("folders", "list_cmd", "List the members of an encrypted folder."),
    "recommend": ("folders", "recommend_cmd", "Recommend a profile for a file or folder, with timings."),
    "demo": ("tools", "demo", "Run the main job: a message, a file, a folder and a live P2P stream."),
    "send": ("transfer", "send", "Send a file over an authenticated P2P session (to a key or with a code)."),
    "receive": ("transfer", "receive", "Receive a file from stc send; it appears only once authenticated."),
    "stream-demo": ("tools", "stream_demo_cmd", "Two peers over an authenticated UDP session: fps, latency."),
    "bench": ("tools", "bench", "Benchmark messages, files and frames against the bare AEAD and peers."),
}
