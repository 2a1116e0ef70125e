# A streaming hot standby scores the models of its primary, and a session
# on the standby that has a model cached scores the new version once the
# primary's replacement has been replayed (the commit record carries the
# cache invalidation).  Writing models on the standby is a clean error.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use OnnxTapUtil;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = onnx_node('primary', allows_streaming => 1);
my $mlp = fixture_sql('mlp.onnx');
my $linear = fixture_sql('linear.onnx');
$primary->safe_psql('postgres', "SELECT onnx_create_model('m', $mlp)");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

my $score = "SELECT onnx_predict('m', '{1,2,3,4}')";
my $v1 = $primary->safe_psql('postgres', $score);
my $session = $standby->background_psql('postgres');
is($session->query_safe($score), $v1, 'the standby scores the primary\'s model');

$primary->safe_psql('postgres', "SELECT onnx_replace_model('m', $linear)");
my $v2 = $primary->safe_psql('postgres', $score);
isnt($v2, $v1, 'the replacement changes the answer on the primary');
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($session->query_safe($score), $v2, 'the standby session with the old model cached scores the new one');

my ($rc, $out, $err) = $standby->psql('postgres', "SELECT onnx_create_model('x', $mlp)");
isnt($rc, 0, 'storing a model on the standby fails');
like($err, qr/read-only transaction/, 'with a clean read-only error');
$session->quit;

$standby->stop;
$primary->stop;
done_testing();
