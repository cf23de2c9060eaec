//! [`copy_with_chat_template`](crate::gguf_copy::copy_with_chat_template) lets a test run a real model's weights under a
//! template the test chooses (say one whose markers no built-in list knows),
//! without keeping a second model file around. It rewrites the header and
//! streams the tensor data unchanged. The module depends on nothing but `std`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";
const ALIGNMENT_KEY: &str = "general.alignment";
/// The alignment of the data section when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;

/// Copies the GGUF model at `src` to `dst` with `template` as its
/// `tokenizer.chat_template` (added if `src` has none).
///
/// Every other metadata entry keeps its place and bytes, the tensor infos are
/// unchanged, and the tensor data is streamed byte for byte: the header is
/// padded to the file's `general.alignment` so the tensor offsets, relative
/// to the data section, stay valid. A file cut inside its tensor data is
/// copied as it is; llama.cpp rejects it when it loads.
///
/// # Errors
///
/// Any I/O error reading `src` or writing `dst`, and `InvalidData` (or
/// `UnexpectedEof` for a truncated header) when `src` is not a GGUF v2/v3
/// file: bad magic, unknown value type, bad `general.alignment`, or a
/// non-UTF-8 key. Each message names the file at fault.
pub fn copy_with_chat_template(src: &Path, dst: &Path, template: &str) -> io::Result<()> {
    let in_src = |e: io::Error| io::Error::new(e.kind(), format!("GGUF `{}`: {e}", src.display()));
    if std::fs::canonicalize(dst).ok() == Some(std::fs::canonicalize(src).map_err(in_src)?) {
        let why = "the destination is the source; the copy would overwrite what it reads";
        return Err(in_src(io::Error::new(io::ErrorKind::InvalidInput, why)));
    }
    let file = File::open(src).map_err(in_src)?;
    let mut reader = Counting::new(BufReader::new(file));
    let mut header = read_header(&mut reader).map_err(in_src)?;
    let mut value = TYPE_STRING.to_le_bytes().to_vec();
    put_str(&mut value, template);
    let kvs = &mut header.kvs;
    match kvs.iter().position(|(key, _)| key == CHAT_TEMPLATE_KEY) {
        Some(at) => kvs[at].1 = value,
        None => kvs.push((CHAT_TEMPLATE_KEY.to_owned(), value)),
    }
    let in_dst = |e: io::Error| io::Error::new(e.kind(), format!("copy `{}`: {e}", dst.display()));
    let mut out = BufWriter::new(File::create(dst).map_err(in_dst)?);
    out.write_all(&header_bytes(&header).map_err(in_src)?)
        .map_err(in_dst)?;
    io::copy(&mut reader.inner, &mut out).map_err(in_dst)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error);
    file.and_then(|file| file.sync_all()).map_err(in_dst)
}

/// A GGUF header: each metadata value and the tensor infos kept as raw bytes.
struct Header {
    version: u32,
    tensor_count: u64,
    /// Key, then the value's type and payload as stored.
    kvs: Vec<(String, Vec<u8>)>,
    tensor_infos: Vec<u8>,
    alignment: u64,
}

/// A reader that knows how far it has read, for the padding after the header.
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Counting<R> {
    const fn new(inner: R) -> Self {
        Self { inner, pos: 0 }
    }

    /// Appends the next `n` bytes to `out`. Reads as the bytes arrive, so a
    /// garbage length cannot allocate more than the file holds.
    fn copy(&mut self, n: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let got = (&mut self.inner).take(n).read_to_end(out)? as u64;
        self.pos += got;
        if got < n {
            let why = format!("truncated: the header ends at byte {}", self.pos);
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, why));
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, out: &mut Vec<u8>) -> io::Result<[u8; N]> {
        let start = out.len();
        self.copy(N as u64, out)?;
        let mut bytes = [0; N];
        bytes.copy_from_slice(&out[start..]);
        Ok(bytes)
    }

    fn u32(&mut self, out: &mut Vec<u8>) -> io::Result<u32> {
        self.array(out).map(u32::from_le_bytes)
    }

    fn u64(&mut self, out: &mut Vec<u8>) -> io::Result<u64> {
        self.array(out).map(u64::from_le_bytes)
    }

    fn string(&mut self) -> io::Result<String> {
        let mut bytes = Vec::new();
        let len = self.u64(&mut bytes)?;
        bytes.clear();
        self.copy(len, &mut bytes)?;
        String::from_utf8(bytes).map_err(|e| invalid(format!("a key is not UTF-8 ({e})")))
    }

    /// Appends the payload of a value of type `ty` to `out`.
    fn value(&mut self, ty: u32, out: &mut Vec<u8>) -> io::Result<()> {
        if let Some(size) = fixed_size(ty) {
            return self.copy(size, out);
        }
        match ty {
            TYPE_STRING => {
                let len = self.u64(out)?;
                self.copy(len, out)
            }
            TYPE_ARRAY => {
                let elem = self.u32(out)?;
                let count = self.u64(out)?;
                if let Some(size) = fixed_size(elem) {
                    let bytes = count
                        .checked_mul(size)
                        .ok_or_else(|| invalid("array too long"))?;
                    return self.copy(bytes, out);
                }
                if elem != TYPE_STRING && elem != TYPE_ARRAY {
                    return Err(invalid(format!("unknown array element type {elem}")));
                }
                (0..count).try_for_each(|_| self.value(elem, out))
            }
            _ => Err(invalid(format!("unknown value type {ty}"))),
        }
    }
}

/// The size of a value of a fixed-size type; `None` for strings, arrays and
/// unknown types.
const fn fixed_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

const fn align(pos: u64, alignment: u64) -> u64 {
    pos.div_ceil(alignment) * alignment
}

/// Reads the header and the padding after it, up to the data section.
fn read_header<R: Read>(r: &mut Counting<R>) -> io::Result<Header> {
    let mut scratch = Vec::new();
    let magic: [u8; 4] = r.array(&mut scratch)?;
    if &magic != b"GGUF" {
        return Err(invalid(format!("bad magic {magic:?}: not a GGUF file")));
    }
    let version = r.u32(&mut scratch)?;
    if !(2..=3).contains(&version) {
        return Err(invalid(format!("GGUF version {version}; 2 or 3 expected")));
    }
    let tensor_count = r.u64(&mut scratch)?;
    let kv_count = r.u64(&mut scratch)?;
    let (mut kvs, mut alignment) = (Vec::new(), DEFAULT_ALIGNMENT);
    for _ in 0..kv_count {
        let key = r.string()?;
        let mut value = Vec::new();
        let in_key = |e: io::Error| io::Error::new(e.kind(), format!("key `{key}`: {e}"));
        let ty = r.u32(&mut value).map_err(in_key)?;
        r.value(ty, &mut value).map_err(in_key)?;
        if key == ALIGNMENT_KEY {
            // A u32 (type 4), as llama.cpp requires.
            alignment = match value[..] {
                [4, 0, 0, 0, a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
                _ => 0,
            };
            if alignment == 0 {
                return Err(invalid("`general.alignment` is not a non-zero u32"));
            }
        }
        kvs.push((key, value));
    }
    let mut tensor_infos = Vec::new();
    for _ in 0..tensor_count {
        let name_len = r.u64(&mut tensor_infos)?;
        r.copy(name_len, &mut tensor_infos)?;
        let n_dims = r.u32(&mut tensor_infos)?;
        // The dimensions, then the ggml type (u32) and the offset (u64).
        r.copy(u64::from(n_dims) * 8 + 4 + 8, &mut tensor_infos)?;
    }
    let data_start = align(r.pos, alignment);
    r.copy(data_start - r.pos, &mut scratch)?;
    Ok(Header {
        version,
        tensor_count,
        kvs,
        tensor_infos,
        alignment,
    })
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// The header's bytes, padded with zeros to its alignment.
fn header_bytes(header: &Header) -> io::Result<Vec<u8>> {
    let mut buf = b"GGUF".to_vec();
    buf.extend_from_slice(&header.version.to_le_bytes());
    buf.extend_from_slice(&header.tensor_count.to_le_bytes());
    buf.extend_from_slice(&(header.kvs.len() as u64).to_le_bytes());
    for (key, value) in &header.kvs {
        put_str(&mut buf, key);
        buf.extend_from_slice(value);
    }
    buf.extend_from_slice(&header.tensor_infos);
    let padded = usize::try_from(align(buf.len() as u64, header.alignment))
        .map_err(|_| invalid("alignment too large"))?;
    buf.resize(padded, 0);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    /// The header, where the data section starts, and the data.
    fn parse(path: &Path) -> (Header, u64, Vec<u8>) {
        let bytes = std::fs::read(path).unwrap();
        let mut reader = Counting::new(&bytes[..]);
        let header = read_header(&mut reader).unwrap();
        (header, reader.pos, reader.inner.to_vec())
    }

    #[test]
    fn the_copy_differs_only_in_its_template_replaced_in_place_or_added() {
        let template = "{% for m in messages %}[[turn:{{ m['role'] }}]]{{ m['content'] }}[[/turn]]{% endfor %}";
        let mut value = TYPE_STRING.to_le_bytes().to_vec();
        put_str(&mut value, template);
        let write: [fn(&Path, u64) -> io::Result<()>; 2] = [
            fixture::write_fixture_model,
            fixture::write_fixture_model_without_chat_template,
        ];
        for (i, write) in write.into_iter().enumerate() {
            let dir = std::env::temp_dir();
            let src = dir.join(format!("agentkit-gguf-{}-{i}.gguf", std::process::id()));
            let dst = src.with_extension("copy.gguf");
            write(&src, 7).unwrap();
            copy_with_chat_template(&src, &dst, template).unwrap();
            let ((old, _, old_data), (new, data_start, new_data)) = (parse(&src), parse(&dst));
            let counts = |h: &Header| (h.version, h.tensor_count, h.alignment);
            assert_eq!(counts(&new), counts(&old));
            let tensors_equal = new.tensor_infos == old.tensor_infos && new_data == old_data;
            assert!(tensors_equal, "the tensor infos or data differ");
            assert_eq!(data_start % new.alignment, 0);
            // The template replaced where it was, or added at the end.
            let mut expected = old.kvs;
            match expected.iter().position(|kv| kv.0 == CHAT_TEMPLATE_KEY) {
                Some(at) => expected[at].1.clone_from(&value),
                None => expected.push((CHAT_TEMPLATE_KEY.to_owned(), value.clone())),
            }
            assert_eq!(new.kvs.len(), expected.len());
            for ((key, want), (new_key, got)) in expected.iter().zip(&new.kvs) {
                assert!(new_key == key && got == want, "`{key}` changed");
            }
            std::fs::remove_file(src).unwrap();
            std::fs::remove_file(dst).unwrap();
        }
    }

    #[test]
    fn a_truncated_header_or_bad_magic_is_an_error_naming_the_file() {
        let src = std::env::temp_dir().join(format!("agentkit-gguf-{}-cut", std::process::id()));
        let dst = src.with_extension("copy");
        fixture::write_fixture_model(&src, 7).unwrap();
        std::fs::write(&src, &std::fs::read(&src).unwrap()[..1000]).unwrap();
        let err = copy_with_chat_template(&src, &dst, "x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("truncated") && text.contains("-cut"),
            "{text}"
        );
        std::fs::write(&src, b"GGML and more").unwrap();
        let err = copy_with_chat_template(&src, &dst, "x").unwrap_err();
        assert!(err.to_string().contains("bad magic"), "{err}");
        let err = copy_with_chat_template(&src, &src, "x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(!dst.exists());
        std::fs::remove_file(src).unwrap();
    }
}
