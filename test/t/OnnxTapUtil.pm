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
our @EXPORT = qw(fixture_sql onnx_node);

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

1;
