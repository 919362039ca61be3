// Package cascade joins this controller to the national emergency broadcast cascade
// (province > city > county > town): signed emergency messages come in from the upper
// platform, play through the same dispatch path as this town's emergencies, and state,
// coverage, heartbeats and terminal states go back up. A controller can also be the upper
// platform of others: it relays messages down, re-signed, and adds their coverage to its own.
//
//	POST /api/v1/cascade/ebd (tar: EBD + signature + audio)   POST /api/v1/cascade/cap
//	        │                                                         │
//	        └──> unpack -> parse (strict) -> verify signature and digests -> refuse replays
//	                 -> map areas to this town / downstream platforms -> relay down
//	                 -> speak text (TTS) or convert audio -> dispatch (upper-level emergency)
//	                 -> answer: EBDResponse with a result code
//	        receipts -> EBMStateResponse (state, coverage per area) -> upstream URL
//	        ticker   -> ConnectionCheck (heartbeat), EBRDTState (terminal states) -> upstream
//
// The message shapes follow GD/J 082 / GY/T 385 (EBD, EBM), the signature file GD/J 081 /
// GY/T 389 (SM2 with SM3), and OASIS CAP 1.2; docs/CASCADE.md has them in full.
package cascade
