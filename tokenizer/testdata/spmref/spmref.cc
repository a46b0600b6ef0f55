// spmref: reference encoder/decoder over libsentencepiece, for records that
// may contain newlines. Records are framed as a 4-byte little-endian length
// followed by the bytes.
//   spmref encode MODEL < records > ids (one line per record, space separated)
//   spmref decode MODEL < ids-lines > records (decoded text, framed)
//   spmref pieces MODEL < records > pieces (one line per record, pieces hex)
#include <sentencepiece_processor.h>
#include <cstdio>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

static bool readRecord(std::string *s) {
  unsigned char h[4];
  if (fread(h, 1, 4, stdin) != 4) return false;
  uint32_t n = h[0] | (h[1] << 8) | (h[2] << 16) | ((uint32_t)h[3] << 24);
  s->resize(n);
  if (n && fread(&(*s)[0], 1, n, stdin) != n) return false;
  return true;
}

static void writeRecord(const std::string &s) {
  uint32_t n = s.size();
  unsigned char h[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
  fwrite(h, 1, 4, stdout);
  fwrite(s.data(), 1, n, stdout);
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: spmref encode|decode MODEL\n"); return 2; }
  sentencepiece::SentencePieceProcessor sp;
  auto st = sp.Load(argv[2]);
  if (!st.ok()) { fprintf(stderr, "%s\n", st.ToString().c_str()); return 1; }
  std::string mode = argv[1];
  if (mode == "encode") {
    std::string s;
    while (readRecord(&s)) {
      std::vector<int> ids;
      auto st = sp.Encode(s, &ids);
      if (!st.ok()) { fprintf(stderr, "%s\n", st.ToString().c_str()); return 1; }
      for (size_t i = 0; i < ids.size(); i++) printf(i ? " %d" : "%d", ids[i]);
      printf("\n");
    }
  } else if (mode == "decode") {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::vector<int> ids;
      int id;
      while (in >> id) ids.push_back(id);
      std::string out;
      auto st = sp.Decode(ids, &out);
      if (!st.ok()) { fprintf(stderr, "%s\n", st.ToString().c_str()); return 1; }
      writeRecord(out);
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
