//go:build !noasm

#include "textflag.h"

// AVX-512 decoders and weight-only dots of q4_K, q5_K, q6_K; Go side in
// qk_amd64.go.
//
// q4_K/q5_K: per 32-value sub-block a table of the 16 (q5_K: 32) decoded
// values float32(d·sc·u) − dmin·m is built with one multiply and one
// subtract, so VPERMPS / VPERMI2PS on the codes yields the decoded weights
// exactly as the generic decoder rounds them. q6_K: the codes are built as
// bytes, widened, converted and multiplied by float32(d·sc), as the generic
// decoder does. The decoders store the values; the dots multiply them into
// four accumulators (FMA; the order differs from the generic body within
// the tolerance).
//
// func dequantQxKAVX512(dst *float32, src *byte, nb int)
// func dotQxKAVX512(w *byte, x *float32, nb int) float32
//
// SI block, DI dst or x (advanced 1024 bytes per block), CX blocks left.
// Z0–Z3 decoded values, Z8–Z15 tables and indices, Z16 q5_K qh, Z20–Z23
// accumulators, Z28 16s, Z29 0x0f, Z30/Z31 the code values 16–31/0–15.
// Scales reach the lanes through VPERMPS with the index vectors of kxidx
// (all lanes i in vector i) rather than through the frame: a 64-byte store
// read back as 4-byte broadcasts stalls store forwarding.

DATA kxtab<>+0(SB)/4, $0.0
DATA kxtab<>+4(SB)/4, $1.0
DATA kxtab<>+8(SB)/4, $2.0
DATA kxtab<>+12(SB)/4, $3.0
DATA kxtab<>+16(SB)/4, $4.0
DATA kxtab<>+20(SB)/4, $5.0
DATA kxtab<>+24(SB)/4, $6.0
DATA kxtab<>+28(SB)/4, $7.0
DATA kxtab<>+32(SB)/4, $8.0
DATA kxtab<>+36(SB)/4, $9.0
DATA kxtab<>+40(SB)/4, $10.0
DATA kxtab<>+44(SB)/4, $11.0
DATA kxtab<>+48(SB)/4, $12.0
DATA kxtab<>+52(SB)/4, $13.0
DATA kxtab<>+56(SB)/4, $14.0
DATA kxtab<>+60(SB)/4, $15.0
DATA kxtab<>+64(SB)/4, $16.0
DATA kxtab<>+68(SB)/4, $17.0
DATA kxtab<>+72(SB)/4, $18.0
DATA kxtab<>+76(SB)/4, $19.0
DATA kxtab<>+80(SB)/4, $20.0
DATA kxtab<>+84(SB)/4, $21.0
DATA kxtab<>+88(SB)/4, $22.0
DATA kxtab<>+92(SB)/4, $23.0
DATA kxtab<>+96(SB)/4, $24.0
DATA kxtab<>+100(SB)/4, $25.0
DATA kxtab<>+104(SB)/4, $26.0
DATA kxtab<>+108(SB)/4, $27.0
DATA kxtab<>+112(SB)/4, $28.0
DATA kxtab<>+116(SB)/4, $29.0
DATA kxtab<>+120(SB)/4, $30.0
DATA kxtab<>+124(SB)/4, $31.0
GLOBL kxtab<>(SB), RODATA|NOPTR, $128

// kxidx: vector i (64 bytes at 64·i) holds i in every lane.
DATA kxidx<>+0(SB)/4, $0
DATA kxidx<>+4(SB)/4, $0
DATA kxidx<>+8(SB)/4, $0
DATA kxidx<>+12(SB)/4, $0
DATA kxidx<>+16(SB)/4, $0
DATA kxidx<>+20(SB)/4, $0
DATA kxidx<>+24(SB)/4, $0
DATA kxidx<>+28(SB)/4, $0
DATA kxidx<>+32(SB)/4, $0
DATA kxidx<>+36(SB)/4, $0
DATA kxidx<>+40(SB)/4, $0
DATA kxidx<>+44(SB)/4, $0
DATA kxidx<>+48(SB)/4, $0
DATA kxidx<>+52(SB)/4, $0
DATA kxidx<>+56(SB)/4, $0
DATA kxidx<>+60(SB)/4, $0
DATA kxidx<>+64(SB)/4, $1
DATA kxidx<>+68(SB)/4, $1
DATA kxidx<>+72(SB)/4, $1
DATA kxidx<>+76(SB)/4, $1
DATA kxidx<>+80(SB)/4, $1
DATA kxidx<>+84(SB)/4, $1
DATA kxidx<>+88(SB)/4, $1
DATA kxidx<>+92(SB)/4, $1
DATA kxidx<>+96(SB)/4, $1
DATA kxidx<>+100(SB)/4, $1
DATA kxidx<>+104(SB)/4, $1
DATA kxidx<>+108(SB)/4, $1
DATA kxidx<>+112(SB)/4, $1
DATA kxidx<>+116(SB)/4, $1
DATA kxidx<>+120(SB)/4, $1
DATA kxidx<>+124(SB)/4, $1
DATA kxidx<>+128(SB)/4, $2
DATA kxidx<>+132(SB)/4, $2
DATA kxidx<>+136(SB)/4, $2
DATA kxidx<>+140(SB)/4, $2
DATA kxidx<>+144(SB)/4, $2
DATA kxidx<>+148(SB)/4, $2
DATA kxidx<>+152(SB)/4, $2
DATA kxidx<>+156(SB)/4, $2
DATA kxidx<>+160(SB)/4, $2
DATA kxidx<>+164(SB)/4, $2
DATA kxidx<>+168(SB)/4, $2
DATA kxidx<>+172(SB)/4, $2
DATA kxidx<>+176(SB)/4, $2
DATA kxidx<>+180(SB)/4, $2
DATA kxidx<>+184(SB)/4, $2
DATA kxidx<>+188(SB)/4, $2
DATA kxidx<>+192(SB)/4, $3
DATA kxidx<>+196(SB)/4, $3
DATA kxidx<>+200(SB)/4, $3
DATA kxidx<>+204(SB)/4, $3
DATA kxidx<>+208(SB)/4, $3
DATA kxidx<>+212(SB)/4, $3
DATA kxidx<>+216(SB)/4, $3
DATA kxidx<>+220(SB)/4, $3
DATA kxidx<>+224(SB)/4, $3
DATA kxidx<>+228(SB)/4, $3
DATA kxidx<>+232(SB)/4, $3
DATA kxidx<>+236(SB)/4, $3
DATA kxidx<>+240(SB)/4, $3
DATA kxidx<>+244(SB)/4, $3
DATA kxidx<>+248(SB)/4, $3
DATA kxidx<>+252(SB)/4, $3
DATA kxidx<>+256(SB)/4, $4
DATA kxidx<>+260(SB)/4, $4
DATA kxidx<>+264(SB)/4, $4
DATA kxidx<>+268(SB)/4, $4
DATA kxidx<>+272(SB)/4, $4
DATA kxidx<>+276(SB)/4, $4
DATA kxidx<>+280(SB)/4, $4
DATA kxidx<>+284(SB)/4, $4
DATA kxidx<>+288(SB)/4, $4
DATA kxidx<>+292(SB)/4, $4
DATA kxidx<>+296(SB)/4, $4
DATA kxidx<>+300(SB)/4, $4
DATA kxidx<>+304(SB)/4, $4
DATA kxidx<>+308(SB)/4, $4
DATA kxidx<>+312(SB)/4, $4
DATA kxidx<>+316(SB)/4, $4
DATA kxidx<>+320(SB)/4, $5
DATA kxidx<>+324(SB)/4, $5
DATA kxidx<>+328(SB)/4, $5
DATA kxidx<>+332(SB)/4, $5
DATA kxidx<>+336(SB)/4, $5
DATA kxidx<>+340(SB)/4, $5
DATA kxidx<>+344(SB)/4, $5
DATA kxidx<>+348(SB)/4, $5
DATA kxidx<>+352(SB)/4, $5
DATA kxidx<>+356(SB)/4, $5
DATA kxidx<>+360(SB)/4, $5
DATA kxidx<>+364(SB)/4, $5
DATA kxidx<>+368(SB)/4, $5
DATA kxidx<>+372(SB)/4, $5
DATA kxidx<>+376(SB)/4, $5
DATA kxidx<>+380(SB)/4, $5
DATA kxidx<>+384(SB)/4, $6
DATA kxidx<>+388(SB)/4, $6
DATA kxidx<>+392(SB)/4, $6
DATA kxidx<>+396(SB)/4, $6
DATA kxidx<>+400(SB)/4, $6
DATA kxidx<>+404(SB)/4, $6
DATA kxidx<>+408(SB)/4, $6
DATA kxidx<>+412(SB)/4, $6
DATA kxidx<>+416(SB)/4, $6
DATA kxidx<>+420(SB)/4, $6
DATA kxidx<>+424(SB)/4, $6
DATA kxidx<>+428(SB)/4, $6
DATA kxidx<>+432(SB)/4, $6
DATA kxidx<>+436(SB)/4, $6
DATA kxidx<>+440(SB)/4, $6
DATA kxidx<>+444(SB)/4, $6
DATA kxidx<>+448(SB)/4, $7
DATA kxidx<>+452(SB)/4, $7
DATA kxidx<>+456(SB)/4, $7
DATA kxidx<>+460(SB)/4, $7
DATA kxidx<>+464(SB)/4, $7
DATA kxidx<>+468(SB)/4, $7
DATA kxidx<>+472(SB)/4, $7
DATA kxidx<>+476(SB)/4, $7
DATA kxidx<>+480(SB)/4, $7
DATA kxidx<>+484(SB)/4, $7
DATA kxidx<>+488(SB)/4, $7
DATA kxidx<>+492(SB)/4, $7
DATA kxidx<>+496(SB)/4, $7
DATA kxidx<>+500(SB)/4, $7
DATA kxidx<>+504(SB)/4, $7
DATA kxidx<>+508(SB)/4, $7
DATA kxidx<>+512(SB)/4, $8
DATA kxidx<>+516(SB)/4, $8
DATA kxidx<>+520(SB)/4, $8
DATA kxidx<>+524(SB)/4, $8
DATA kxidx<>+528(SB)/4, $8
DATA kxidx<>+532(SB)/4, $8
DATA kxidx<>+536(SB)/4, $8
DATA kxidx<>+540(SB)/4, $8
DATA kxidx<>+544(SB)/4, $8
DATA kxidx<>+548(SB)/4, $8
DATA kxidx<>+552(SB)/4, $8
DATA kxidx<>+556(SB)/4, $8
DATA kxidx<>+560(SB)/4, $8
DATA kxidx<>+564(SB)/4, $8
DATA kxidx<>+568(SB)/4, $8
DATA kxidx<>+572(SB)/4, $8
DATA kxidx<>+576(SB)/4, $9
DATA kxidx<>+580(SB)/4, $9
DATA kxidx<>+584(SB)/4, $9
DATA kxidx<>+588(SB)/4, $9
DATA kxidx<>+592(SB)/4, $9
DATA kxidx<>+596(SB)/4, $9
DATA kxidx<>+600(SB)/4, $9
DATA kxidx<>+604(SB)/4, $9
DATA kxidx<>+608(SB)/4, $9
DATA kxidx<>+612(SB)/4, $9
DATA kxidx<>+616(SB)/4, $9
DATA kxidx<>+620(SB)/4, $9
DATA kxidx<>+624(SB)/4, $9
DATA kxidx<>+628(SB)/4, $9
DATA kxidx<>+632(SB)/4, $9
DATA kxidx<>+636(SB)/4, $9
DATA kxidx<>+640(SB)/4, $10
DATA kxidx<>+644(SB)/4, $10
DATA kxidx<>+648(SB)/4, $10
DATA kxidx<>+652(SB)/4, $10
DATA kxidx<>+656(SB)/4, $10
DATA kxidx<>+660(SB)/4, $10
DATA kxidx<>+664(SB)/4, $10
DATA kxidx<>+668(SB)/4, $10
DATA kxidx<>+672(SB)/4, $10
DATA kxidx<>+676(SB)/4, $10
DATA kxidx<>+680(SB)/4, $10
DATA kxidx<>+684(SB)/4, $10
DATA kxidx<>+688(SB)/4, $10
DATA kxidx<>+692(SB)/4, $10
DATA kxidx<>+696(SB)/4, $10
DATA kxidx<>+700(SB)/4, $10
DATA kxidx<>+704(SB)/4, $11
DATA kxidx<>+708(SB)/4, $11
DATA kxidx<>+712(SB)/4, $11
DATA kxidx<>+716(SB)/4, $11
DATA kxidx<>+720(SB)/4, $11
DATA kxidx<>+724(SB)/4, $11
DATA kxidx<>+728(SB)/4, $11
DATA kxidx<>+732(SB)/4, $11
DATA kxidx<>+736(SB)/4, $11
DATA kxidx<>+740(SB)/4, $11
DATA kxidx<>+744(SB)/4, $11
DATA kxidx<>+748(SB)/4, $11
DATA kxidx<>+752(SB)/4, $11
DATA kxidx<>+756(SB)/4, $11
DATA kxidx<>+760(SB)/4, $11
DATA kxidx<>+764(SB)/4, $11
DATA kxidx<>+768(SB)/4, $12
DATA kxidx<>+772(SB)/4, $12
DATA kxidx<>+776(SB)/4, $12
DATA kxidx<>+780(SB)/4, $12
DATA kxidx<>+784(SB)/4, $12
DATA kxidx<>+788(SB)/4, $12
DATA kxidx<>+792(SB)/4, $12
DATA kxidx<>+796(SB)/4, $12
DATA kxidx<>+800(SB)/4, $12
DATA kxidx<>+804(SB)/4, $12
DATA kxidx<>+808(SB)/4, $12
DATA kxidx<>+812(SB)/4, $12
DATA kxidx<>+816(SB)/4, $12
DATA kxidx<>+820(SB)/4, $12
DATA kxidx<>+824(SB)/4, $12
DATA kxidx<>+828(SB)/4, $12
DATA kxidx<>+832(SB)/4, $13
DATA kxidx<>+836(SB)/4, $13
DATA kxidx<>+840(SB)/4, $13
DATA kxidx<>+844(SB)/4, $13
DATA kxidx<>+848(SB)/4, $13
DATA kxidx<>+852(SB)/4, $13
DATA kxidx<>+856(SB)/4, $13
DATA kxidx<>+860(SB)/4, $13
DATA kxidx<>+864(SB)/4, $13
DATA kxidx<>+868(SB)/4, $13
DATA kxidx<>+872(SB)/4, $13
DATA kxidx<>+876(SB)/4, $13
DATA kxidx<>+880(SB)/4, $13
DATA kxidx<>+884(SB)/4, $13
DATA kxidx<>+888(SB)/4, $13
DATA kxidx<>+892(SB)/4, $13
DATA kxidx<>+896(SB)/4, $14
DATA kxidx<>+900(SB)/4, $14
DATA kxidx<>+904(SB)/4, $14
DATA kxidx<>+908(SB)/4, $14
DATA kxidx<>+912(SB)/4, $14
DATA kxidx<>+916(SB)/4, $14
DATA kxidx<>+920(SB)/4, $14
DATA kxidx<>+924(SB)/4, $14
DATA kxidx<>+928(SB)/4, $14
DATA kxidx<>+932(SB)/4, $14
DATA kxidx<>+936(SB)/4, $14
DATA kxidx<>+940(SB)/4, $14
DATA kxidx<>+944(SB)/4, $14
DATA kxidx<>+948(SB)/4, $14
DATA kxidx<>+952(SB)/4, $14
DATA kxidx<>+956(SB)/4, $14
DATA kxidx<>+960(SB)/4, $15
DATA kxidx<>+964(SB)/4, $15
DATA kxidx<>+968(SB)/4, $15
DATA kxidx<>+972(SB)/4, $15
DATA kxidx<>+976(SB)/4, $15
DATA kxidx<>+980(SB)/4, $15
DATA kxidx<>+984(SB)/4, $15
DATA kxidx<>+988(SB)/4, $15
DATA kxidx<>+992(SB)/4, $15
DATA kxidx<>+996(SB)/4, $15
DATA kxidx<>+1000(SB)/4, $15
DATA kxidx<>+1004(SB)/4, $15
DATA kxidx<>+1008(SB)/4, $15
DATA kxidx<>+1012(SB)/4, $15
DATA kxidx<>+1016(SB)/4, $15
DATA kxidx<>+1020(SB)/4, $15
GLOBL kxidx<>(SB), RODATA|NOPTR, $1024

#define BCASTZ(imm, Z) \
	MOVL imm, R11; \
	VPBROADCASTD R11, Z

// XSCALES: X10 = [sc0…sc7 mn0…mn7] of the q4_K/q5_K block at SI (see
// KSCALES in qk_avx2_amd64.s); then Z24 = [d·sc[0..7], dmin·m[0..7]] as
// float32. Uses AX, BX, R8–R11, Z8–Z10.
#define XSCALES \
	MOVL 4(SI), AX; \
	MOVL 8(SI), BX; \
	MOVL 12(SI), R8; \
	MOVL R8, R9; \
	SHRL $4, R9; \
	ANDL $0x0f0f0f0f, R9; \
	MOVL BX, R11; \
	SHRL $6, R11; \
	ANDL $0x03030303, R11; \
	SHLL $4, R11; \
	ORL  R11, R9; \
	MOVL BX, R10; \
	ANDL $0x3f3f3f3f, R10; \
	ANDL $0x0f0f0f0f, R8; \
	MOVL AX, R11; \
	SHRL $6, R11; \
	ANDL $0x03030303, R11; \
	SHLL $4, R11; \
	ORL  R11, R8; \
	ANDL $0x3f3f3f3f, AX; \
	VMOVD AX, X10; \
	VPINSRD $1, R8, X10, X10; \
	VPINSRD $2, R10, X10, X10; \
	VPINSRD $3, R9, X10, X10; \
	VPMOVZXBD X10, Z8; \
	VCVTDQ2PS Z8, Z8; \
	VPBROADCASTW (SI), X9; \
	VCVTPH2PS X9, Y9; \
	VPBROADCASTW 2(SI), X10; \
	VCVTPH2PS X10, Y10; \
	VINSERTF32X8 $1, Y10, Z9, Z9; \
	VMULPS Z8, Z9, Z24

// TAB(ioff, T): T = decoded values of codes 0–15 of sub-block s, with
// ioff = 64·s the offset of its index vector in kxidx (Z24 holds the
// block's d·sc[0..7], dmin·m[0..7]).
#define TAB(ioff, T) \
	VMOVDQU32 kxidx<>+ioff(SB), Z8; \
	VPERMPS Z24, Z8, Z8; \
	VMOVDQU32 kxidx<>+512+ioff(SB), Z9; \
	VPERMPS Z24, Z9, Z9; \
	VMULPS Z8, Z31, T; \
	VSUBPS Z9, T, T

// TAB5(ioff, T, TH): T/TH = decoded values of codes 0–15/16–31.
#define TAB5(ioff, T, TH) \
	VMOVDQU32 kxidx<>+ioff(SB), Z8; \
	VPERMPS Z24, Z8, Z8; \
	VMOVDQU32 kxidx<>+512+ioff(SB), Z9; \
	VPERMPS Z24, Z9, Z9; \
	VMULPS Z8, Z31, T; \
	VSUBPS Z9, T, T; \
	VMULPS Z8, Z30, TH; \
	VSUBPS Z9, TH, TH

// Q4KCHUNK(j, OUT): Z0–Z3 = values 0–15, 16–31 of sub-block 2j and of 2j+1.
#define Q4KCHUNK(j, OUT) \
	TAB(128*j, Z10); \
	TAB(128*j+64, Z11); \
	VPMOVZXBD 16+32*j(SI), Z12; \
	VPMOVZXBD 32+32*j(SI), Z13; \
	VPERMPS Z10, Z12, Z0; \
	VPERMPS Z10, Z13, Z1; \
	VPSRLD $4, Z12, Z12; \
	VPSRLD $4, Z13, Z13; \
	VPERMPS Z11, Z12, Z2; \
	VPERMPS Z11, Z13, Z3; \
	OUT(256*j)

// Q5KCHUNK(j, OUT): as Q4KCHUNK with the fifth bits (qh in Y16): bit 2j of
// qh[l] for sub-block 2j, bit 2j+1 for 2j+1.
#define Q5KCHUNK(j, OUT) \
	TAB5(128*j, Z10, Z14); \
	TAB5(128*j+64, Z11, Z15); \
	MOVL $(0x01010101<<(2*j)), R11; \
	VPBROADCASTD R11, Y17; \
	VPTESTMB Y17, Y16, K1; \
	KSHIFTRD $16, K1, K2; \
	VPADDD Y17, Y17, Y17; \
	VPTESTMB Y17, Y16, K3; \
	KSHIFTRD $16, K3, K4; \
	VPMOVZXBD 48+32*j(SI), Z12; \
	VPMOVZXBD 64+32*j(SI), Z13; \
	VPANDD Z29, Z12, Z0; \
	VPANDD Z29, Z13, Z1; \
	VPSRLD $4, Z12, Z2; \
	VPSRLD $4, Z13, Z3; \
	VPORD Z28, Z0, K1, Z0; \
	VPORD Z28, Z1, K2, Z1; \
	VPORD Z28, Z2, K3, Z2; \
	VPORD Z28, Z3, K4, Z3; \
	VPERMI2PS Z14, Z10, Z0; \
	VPERMI2PS Z14, Z10, Z1; \
	VPERMI2PS Z15, Z11, Z2; \
	VPERMI2PS Z15, Z11, Z3; \
	OUT(256*j)

// Outputs of four decoded vectors at byte offset off of the 256 values.
#define STORE4(off) \
	VMOVUPS Z0, off(DI); \
	VMOVUPS Z1, off+64(DI); \
	VMOVUPS Z2, off+128(DI); \
	VMOVUPS Z3, off+192(DI)

#define FMA4(off) \
	VFMADD231PS off(DI), Z0, Z20; \
	VFMADD231PS off+64(DI), Z1, Z21; \
	VFMADD231PS off+128(DI), Z2, Z22; \
	VFMADD231PS off+192(DI), Z3, Z23

#define ZEROACC4 \
	VXORPS Z20, Z20, Z20; \
	VXORPS Z21, Z21, Z21; \
	VXORPS Z22, Z22, Z22; \
	VXORPS Z23, Z23, Z23

// SUMACC4: X20 = Σ of the four accumulators' lanes.
#define SUMACC4 \
	VADDPS Z21, Z20, Z20; \
	VADDPS Z23, Z22, Z22; \
	VADDPS Z22, Z20, Z20; \
	VEXTRACTF64X4 $1, Z20, Y21; \
	VADDPS Y21, Y20, Y20; \
	VEXTRACTF32X4 $1, Y20, X21; \
	VADDPS X21, X20, X20; \
	VPERMILPS $0x4e, X20, X21; \
	VADDPS X21, X20, X20; \
	VPERMILPS $0xb1, X20, X21; \
	VADDPS X21, X20, X20

#define KCONSTS \
	VMOVUPS kxtab<>(SB), Z31; \
	VMOVUPS kxtab<>+64(SB), Z30; \
	BCASTZ($0x0f, Z29); \
	BCASTZ($0x10, Z28)

// q6_K: the frame holds float32(d·sc[i]) for the 16 scales (here the
// broadcasts from the frame measured faster than VPERMPS).
#define Q6SCALES \
	VPMOVSXBD 192(SI), Z8; \
	VCVTDQ2PS Z8, Z8; \
	VPBROADCASTW 208(SI), Y9; \
	VCVTPH2PS Y9, Z9; \
	VMULPS Z8, Z9, Z8; \
	VMOVUPS Z8, 0(SP)

// Q6Q(qloff, LSH, qhoff, HSH, soff, OUT2, off): the 32 values of one
// quarter-row (codes as in dequantQ6KAVX2): Z0 = values 0–15 (scale at
// soff(SP)), Z1 = 16–31 (the next scale), then OUT2(off).
// Y4 bytes of 32, Y5 0x30, Y6 0x0f.
#define Q6Q(qloff, LSH, qhoff, HSH, soff, OUT2, off) \
	VMOVDQU qloff(SI), Y0; \
	LSH; \
	VPAND Y6, Y0, Y0; \
	VMOVDQU qhoff(SI), Y1; \
	HSH; \
	VPAND Y5, Y1, Y1; \
	VPOR Y1, Y0, Y0; \
	VPSUBB Y4, Y0, Y0; \
	VEXTRACTI128 $1, Y0, X1; \
	VPMOVSXBD X0, Z0; \
	VPMOVSXBD X1, Z1; \
	VCVTDQ2PS Z0, Z0; \
	VCVTDQ2PS Z1, Z1; \
	VMULPS.BCST soff(SP), Z0, Z0; \
	VMULPS.BCST soff+4(SP), Z1, Z1; \
	OUT2(off)

#define NOSH
#define L_R4 VPSRLW $4, Y0, Y0
#define H_L4 VPSLLW $4, Y1, Y1
#define H_L2 VPSLLW $2, Y1, Y1
#define H_R2 VPSRLW $2, Y1, Y1

#define STORE2(off) \
	VMOVUPS Z0, off(DI); \
	VMOVUPS Z1, off+64(DI)

#define FMA2A(off) \
	VFMADD231PS off(DI), Z0, Z20; \
	VFMADD231PS off+64(DI), Z1, Z21

#define FMA2B(off) \
	VFMADD231PS off(DI), Z0, Z22; \
	VFMADD231PS off+64(DI), Z1, Z23

#define Q6BLOCK(OUTA, OUTB) \
	Q6SCALES; \
	Q6Q(0, NOSH, 128, H_L4, 0, OUTA, 0); \
	Q6Q(32, NOSH, 128, H_L2, 8, OUTB, 128); \
	Q6Q(0, L_R4, 128, NOSH, 16, OUTA, 256); \
	Q6Q(32, L_R4, 128, H_R2, 24, OUTB, 384); \
	Q6Q(64, NOSH, 160, H_L4, 32, OUTA, 512); \
	Q6Q(96, NOSH, 160, H_L2, 40, OUTB, 640); \
	Q6Q(64, L_R4, 160, NOSH, 48, OUTA, 768); \
	Q6Q(96, L_R4, 160, H_R2, 56, OUTB, 896)

#define Q6CONSTS \
	MOVL $0x20202020, R11; \
	VPBROADCASTD R11, Y4; \
	MOVL $0x30303030, R11; \
	VPBROADCASTD R11, Y5; \
	MOVL $0x0f0f0f0f, R11; \
	VPBROADCASTD R11, Y6

#define ARGS_DQ \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ nb+16(FP), CX

#define ARGS_DOT \
	MOVQ w+0(FP), SI; \
	MOVQ x+8(FP), DI; \
	MOVQ nb+16(FP), CX; \
	ZEROACC4

// func dequantQ4KAVX512(dst *float32, src *byte, nb int)
TEXT ·dequantQ4KAVX512(SB), NOSPLIT, $0-24
	ARGS_DQ
	KCONSTS
	TESTQ CX, CX
	JLE x4ddone

x4dloop:
	XSCALES
	Q4KCHUNK(0, STORE4)
	Q4KCHUNK(1, STORE4)
	Q4KCHUNK(2, STORE4)
	Q4KCHUNK(3, STORE4)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x4dloop

x4ddone:
	VZEROUPPER
	RET

// func dotQ4KAVX512(w *byte, x *float32, nb int) float32
TEXT ·dotQ4KAVX512(SB), NOSPLIT, $0-28
	ARGS_DOT
	KCONSTS
	TESTQ CX, CX
	JLE x4fdone

x4floop:
	XSCALES
	Q4KCHUNK(0, FMA4)
	Q4KCHUNK(1, FMA4)
	Q4KCHUNK(2, FMA4)
	Q4KCHUNK(3, FMA4)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x4floop

x4fdone:
	SUMACC4
	VMOVSS X20, ret+24(FP)
	VZEROUPPER
	RET

// func dequantQ5KAVX512(dst *float32, src *byte, nb int)
TEXT ·dequantQ5KAVX512(SB), NOSPLIT, $0-24
	ARGS_DQ
	KCONSTS
	TESTQ CX, CX
	JLE x5ddone

x5dloop:
	XSCALES
	VMOVDQU32 16(SI), Y16
	Q5KCHUNK(0, STORE4)
	Q5KCHUNK(1, STORE4)
	Q5KCHUNK(2, STORE4)
	Q5KCHUNK(3, STORE4)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x5dloop

x5ddone:
	VZEROUPPER
	RET

// func dotQ5KAVX512(w *byte, x *float32, nb int) float32
TEXT ·dotQ5KAVX512(SB), NOSPLIT, $0-28
	ARGS_DOT
	KCONSTS
	TESTQ CX, CX
	JLE x5fdone

x5floop:
	XSCALES
	VMOVDQU32 16(SI), Y16
	Q5KCHUNK(0, FMA4)
	Q5KCHUNK(1, FMA4)
	Q5KCHUNK(2, FMA4)
	Q5KCHUNK(3, FMA4)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x5floop

x5fdone:
	SUMACC4
	VMOVSS X20, ret+24(FP)
	VZEROUPPER
	RET

// func dequantQ6KAVX512(dst *float32, src *byte, nb int)
TEXT ·dequantQ6KAVX512(SB), NOSPLIT, $64-24
	ARGS_DQ
	Q6CONSTS
	TESTQ CX, CX
	JLE x6ddone

x6dloop:
	Q6BLOCK(STORE2, STORE2)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x6dloop

x6ddone:
	VZEROUPPER
	RET

// func dotQ6KAVX512(w *byte, x *float32, nb int) float32
TEXT ·dotQ6KAVX512(SB), NOSPLIT, $64-28
	ARGS_DOT
	Q6CONSTS
	TESTQ CX, CX
	JLE x6fdone

x6floop:
	Q6BLOCK(FMA2A, FMA2B)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  x6floop

x6fdone:
	SUMACC4
	VMOVSS X20, ret+24(FP)
	VZEROUPPER
	RET
