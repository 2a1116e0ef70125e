# OnnxTapUtil.pm - shared pieces of the extension's TAP tests: fixture
# models as SQL literals (read here, so the server reads no file) and a
# node configured with the extension preloaded.
package OnnxTapUtil;

use strict;
use warnings;
use File::Basename qw(dirname);
use MIME::Base64 qw(encode_base64);
use PostgreSQL::Test::Cluster;

use Exporter 'import';
our @EXPORT = qw(fixture_sql onnx_node matmul_model_sql);

# decode('...', 'base64') of test/fixtures/NAME
sub fixture_sql
{
	my ($name) = @_;
	my $path = dirname(__FILE__) . "/../fixtures/$name";
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $b64 = encode_base64(<$fh>, '');
	close($fh);
	return "decode('$b64', 'base64')";
}

# A started node with shared_preload_libraries = 'onnx' and the extension
# created in database postgres.
sub onnx_node
{
	my ($name, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'onnx'");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION onnx');
	return $node;
}

# protobuf encoding, just enough for matmul_model_sql
sub _varint
{
	my ($v) = @_;
	my $out = '';
	while ($v >= 0x80)
	{
		$out .= chr(($v & 0x7f) | 0x80);
		$v >>= 7;
	}
	return $out . chr($v);
}
sub _field { my ($num, $bytes) = @_; return _varint(($num << 3) | 2) . _varint(length($bytes)) . $bytes; }
sub _int { my ($num, $v) = @_; return _varint($num << 3) . _varint($v); }

sub _tensor_type
{
	my ($rows, $cols) = @_;
	my $dim0 = defined $rows ? _field(1, _int(1, $rows)) : _field(1, _field(2, 'N'));
	return _field(2, _field(1, _int(1, 1) . _field(2, $dim0 . _field(1, _int(1, $cols)))));
}

# decode('...', 'hex') of a model y = x @ w, x (N, k), w (k, n) float32
# zeros: a model of k * n * 4 bytes of weights, written here byte by byte
sub matmul_model_sql
{
	my ($k, $n) = @_;
	my $w = _int(1, $k) . _int(1, $n) . _int(2, 1) . _field(8, 'w') . _field(9, "\0" x (4 * $k * $n));
	my $graph = _field(1, _field(1, 'x') . _field(1, 'w') . _field(2, 'y') . _field(4, 'MatMul'))
	  . _field(2, 'g') . _field(5, $w)
	  . _field(11, _field(1, 'x') . _tensor_type(undef, $k))
	  . _field(12, _field(1, 'y') . _tensor_type(undef, $n));
	my $model = _int(1, 8) . _field(7, $graph) . _field(8, _int(2, 17));
	return "decode('" . unpack('H*', $model) . "', 'hex')";
}

1;
